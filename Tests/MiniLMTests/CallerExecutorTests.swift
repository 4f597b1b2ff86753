import Foundation
import MiniLM
import SealgateTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// CPU time of the calling thread, in seconds.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// A task executor of one dedicated thread (like an event loop) that adds up the CPU time its jobs take, measured
/// on that thread's own clock, so preemption by other tests does not count.
final class MeteredThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var stopped = false
    private var spent = 0.0
    private var thread: pthread_t?

    init() {
        Thread { [self] in run() }.start()
    }

    /// Whether the calling code runs on this executor's thread.
    var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// CPU seconds spent running jobs so far.
    var cpuSeconds: Double {
        condition.lock()
        defer { condition.unlock() }
        return spent
    }

    /// Ends the thread once its queue is empty.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        thread = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            condition.unlock()
            let start = threadCPUSeconds()
            job.runSynchronously(on: asUnownedTaskExecutor())
            let cost = threadCPUSeconds() - start
            condition.lock()
            spent += cost
            condition.unlock()
        }
    }
}

/// A caller may prefer a task executor that must stay free (a NIO event loop serving other connections); MiniLM's
/// encoding (milliseconds per text) must not run there.
@Suite("MiniLM: embedding never runs on the task executor its caller prefers (an event loop, say)")
struct CallerExecutorTests {
    /// About 400 words: truncated at 256 tokens, tens of milliseconds of CPU per text.
    static let longText = String(repeating: "the gateway answers questions about the handbook with retrieved passages ", count: 40)

    @Test("the meter sees work done on the caller: a 30 ms busy loop under its preference counts ≥ 25 ms")
    func meterWorks() async {
        let caller = MeteredThreadExecutor()
        defer { caller.stop() }
        await withTaskExecutorPreference(caller) {
            let start = threadCPUSeconds()
            var spin = 0
            while threadCPUSeconds() - start < 0.03 { spin &+= 1 }
            #expect(spin > 0)
        }
        #expect(caller.cpuSeconds >= 0.025, "\(caller.cpuSeconds)")
    }

    @Test(
        "one long text (one batch) and eight (batches over the cores): the caller's thread spends < 5 ms, the vectors are those of a plain call",
        .enabled(if: minilmDirectory != nil, "\(weightsAbsent)"), arguments: [1, 8])
    func encodesOffTheCaller(texts: Int) async throws {
        let dir = try #require(minilmDirectory)
        let embedder = try MiniLMEmbedder(directory: URL(fileURLWithPath: dir), parallelism: 2)
        let input = (0..<texts).map { "\($0) " + Self.longText }
        let plain = try await embedder.embed(input)
        let caller = MeteredThreadExecutor()
        defer { caller.stop() }
        let (vectors, before, after) = try await withTaskExecutorPreference(caller) {
            let before = caller.isCurrent
            let vectors = try await embedder.embed(input)
            return (vectors, before, caller.isCurrent)
        }
        // The call starts on the caller's thread and resumes there with the vectors.
        #expect(before && after)
        #expect(vectors == plain)
        #expect(vectors.count == texts && vectors.allSatisfy { $0.count == MiniLMEmbedder.dimensions })
        // Encoding one 256-token text costs tens of milliseconds of CPU; on the caller it would all count here.
        #expect(caller.cpuSeconds < 0.005, "the caller's thread spent \(caller.cpuSeconds * 1000) ms of CPU during the embedding")
    }
}
