import Prometheus
import Synchronization

/// The registry's counters by name and labels, looked up there once: a registry lookup builds the metric's
/// descriptor and hashes its labels under the registry's lock on every increment. Bounded: past ``capacity``
/// series, counters are looked up in the registry on every call (the registry keeps them either way).
final class CounterHandles: Sendable {
    struct Key: Hashable, Sendable {
        let name: String
        let labels: [String]
    }

    private let handles = Mutex<[Key: Counter]>([:])
    /// Series kept at most.
    static let capacity = 4096

    /// The counter of `name{labels}`, resolved with `make` the first time.
    func counter(_ name: String, labels: [(String, String)], make: () -> Counter) -> Counter {
        var flat: [String] = []
        flat.reserveCapacity(labels.count * 2)
        for (label, value) in labels {
            flat.append(label)
            flat.append(value)
        }
        let key = Key(name: name, labels: flat)
        if let known = handles.withLock({ $0[key] }) { return known }
        let made = make()
        handles.withLock { handles in
            if handles.count < Self.capacity { handles[key] = made }
        }
        return made
    }
}
