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
