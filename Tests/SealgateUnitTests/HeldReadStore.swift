import Foundation
import KeyBroker
import SealgateCore
import Synchronization

/// A broker store that passes everything to `base`, except that reads of one setting can be made to wait until
/// `readers` of them are waiting: so two brokers' read-modify-write of one record read the same value, which a
/// write without compare-and-swap would then lose.
final class HeldReadStore: ForwardingBrokerStore {
    let base: any BrokerStore
    private let held = Mutex<(name: String?, readers: Int, waiting: [CheckedContinuation<Void, Never>])>((nil, 0, []))

    init(base: any BrokerStore) { self.base = base }

    /// Holds the next `readers` reads of `name` until all of them are waiting (then releases them together).
    func holdReads(of name: String, readers: Int) { held.withLock { $0 = (name, readers, []) } }

    func setting(_ name: String) async throws -> Data? {
        let value = try await base.setting(name)
        let hold = held.withLock { $0.name == name && $0.readers > 0 }
        if hold {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let release: [CheckedContinuation<Void, Never>] = held.withLock { state in
                    state.waiting.append(continuation)
                    guard state.waiting.count >= state.readers else { return [] }
                    defer { state = (nil, 0, []) }
                    return state.waiting
                }
                for waiter in release { waiter.resume() }
            }
        }
        return value
    }
}

/// A store that holds the next compare-and-swap of one setting until the test releases it: what a slow database
/// write looks like to the requests that arrive meanwhile.
final class HeldWriteStore: ForwardingBrokerStore {
    let base: any BrokerStore
    private struct State {
        var name: String?
        var held: CheckedContinuation<Void, Never>?
        var watchers: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    init(base: any BrokerStore) { self.base = base }

    /// Holds the next write of `name` (one write).
    func holdNextWrite(of name: String) { state.withLock { $0 = State(name: name) } }

    /// Returns once the write is held.
    func writeHeld() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.held != nil { return true }
                s.watchers.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Lets the held write go on.
    func release() {
        let held = state.withLock { s -> CheckedContinuation<Void, Never>? in
            let held = s.held
            s.held = nil
            return held
        }
        held?.resume()
    }

    func replaceSetting(_ name: String, _ value: Data, ifCurrent expected: Data?) async throws -> Bool {
        let hold = state.withLock { s -> Bool in
            guard s.name == name else { return false }
            s.name = nil
            return true
        }
        if hold {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let watchers = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    let watchers = s.watchers
                    s.held = continuation
                    s.watchers = []
                    return watchers
                }
                for watcher in watchers { watcher.resume() }
            }
        }
        return try await base.replaceSetting(name, value, ifCurrent: expected)
    }
}
