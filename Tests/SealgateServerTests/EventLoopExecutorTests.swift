import HTTPHardening
import NIOCore
import NIOPosix
import Testing

/// The gateway's listener runs each connection under an ``EventLoopTaskExecutor`` preference.
@Suite("EventLoopTaskExecutor: a task preferring it runs on the loop's thread, across suspensions and in its child tasks")
struct EventLoopExecutorTests {
    @Test("on the loop at the start, after a sleep and a hop to an actor, and in an async let child")
    func runsOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let counter = LoopProbe()
        let seen = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            var seen = [loop.inEventLoop]
            try? await Task.sleep(for: .milliseconds(2))
            seen.append(loop.inEventLoop)
            seen.append(await counter.bump(loop))
            async let child = loop.inEventLoop
            seen.append(await child)
            seen.append(loop.inEventLoop)
            return seen
        }
        #expect(seen == [true, true, true, true, true], "\(seen)")
        try await group.shutdownGracefully()
    }
}

/// A default actor: its jobs run on the executor the calling task prefers.
actor LoopProbe {
    var count = 0
    func bump(_ loop: any EventLoop) -> Bool {
        count += 1
        return loop.inEventLoop
    }
}
