#!/usr/bin/env python3
"""The chat path's CPU by stage, from a `perf record -g` profile of the gateway (issue #17 item 4).

Usage: Benchmarks/perf-stages.py PERF_DATA [CPU_US_PER_REQUEST]

Every sample goes to exactly one row, the first rule below that matches its call stack (leaf first), so the rows add
up to 100 %; with the CPU per request measured over the same run, each row is also given in µs per request.
  1. audit fsync            the stack reaches fsync (the durable audit append, group commit)
  2. thread hand-offs       the kernel scheduler or futex (context switches between the event loops, the Swift
                            concurrency pool, the SQLite thread pool and the audit writer)
  3. allocator              the leaf is malloc / free / the Swift object or task allocator
  4. kernel (syscalls)      any other kernel leaf: socket reads and writes, epoll, timers
  5. the gateway's stages   the first stage whose name pattern matches a frame, in the order of STAGES
  6. other                  everything else (Swift concurrency runtime, unresolved frames)
Swift async functions have no caller frames in a profile (a resumed job starts at the executor), so a stage is
named by its own frames; the event loops' HTTP/1 parsing and socket work for the client and the upstream cannot be
told apart by symbol and share one row.
"""
import collections
import re
import subprocess
import sys

HANDOFF = re.compile(r"^(finish_task_switch|__schedule|schedule|futex_|do_futex|__x64_sys_futex|sem_post|sem_wait|"
                     r"pthread_cond_(signal|wait|timedwait)|__futex|try_to_wake_up)")
ALLOCATOR = re.compile(r"^(malloc|_int_malloc|_int_free|cfree|free|__libc_free|malloc_consolidate|unlink_chunk|"
                       r"__malloc_usable_size|tcache_|swift_allocObject|swift_deallocObject|swift_slowAlloc|"
                       r"swift_slowDealloc|swift::StackAllocator|swift_task_alloc|swift_task_dealloc|"
                       r"_swift_allocObject|swift_deallocClassInstance|_ContiguousArrayStorage.__deallocating_deinit)")
STAGES = [
    ("audit record (digests, canonical encoding, log files, Merkle tree, receipt)",
     r"LogFile|AuditLog|AuditEncoding|AuditLeaf|NodeBatch|TreeFiles|Receipt|OutcomeRecorder\.commit|"
     r"QueryPipeline\.record|auditDigest|questionDigest|AuditRecord"),
    ("redaction of the answer", r"Redact"),
    ("metrics", r"Prometheus|MetricsRecorder|DashboardRing|CounterHandle"),
    ("logging", r"Logger|LogHandler"),
    ("retrieval: embed the question", r"HashingEmbedder|Tokenizer|IDF\."),
    ("retrieval: index search and rescoring (opening the candidates' embeddings)", r"VectorIndex|TenantIndex|SQLiteDocumentStore|Envelope\.|RowsRead"),
    ("retrieval: SQLite reads of the candidates' sealed rows (NIO thread pool)", r"SQLiteConnection|sqlite3|sqlite_nio"),
    ("retrieval: decrypt the hits", r"DEKCipher|KeyRing\.cipher|SealingContext|QueryPipeline\.retrieve"),
    ("upstream client (async-http-client, request JSON, response JSON)",
     r"OpenAIChatModel|OpenAIHTTP|HTTPClient|HTTPConnectionPool|Transaction\.|HTTP1Connection|HTTP1ClientChannelHandler|"
     r"HTTPRequestEncoder|TracingSupport|DeconstructedURL|RequestBag|Decompressor"),
    ("authentication", r"Authenticator|CredentialTable|callerAuthentication|LeaseManager\.validSecret"),
    ("access decision, lease and key look-ups", r"AccessPolicy|KeyRing|LeaseBoard|LeaseManager|QueryPipeline\.prepare"),
    ("request JSON decode, response JSON encode", r"JSONDecoder|JSONEncoder|JSONWriter|JSONScanner|ChatCompletion|ChatBody"),
    ("HTTP server (Hummingbird, router, handler)",
     r"Hummingbird|Router|HTTP1ToHTTPServerCodec|HTTPConnectionStateHandler|SealgateAPI|GatewayRequestContext|ConnectionGuard|HTTPResponseEncoder|"
     r"ApplicationProtocol|HTTPServerBuilder|NIOAsyncChannel|ResponseWriter|RequestBody"),
    ("event loops: HTTP/1 parsing and socket work (client and upstream connections alike)", r"HTTPDecoder|BetterHTTPParser|llhttp|"
     r"SelectableEventLoop|BaseSocketChannel|ChannelPipeline|ChannelHandlerContext|PendingWritesManager|Selector"),
    ("Swift runtime (task switches, generic metadata, casts)", r"^swift_|^swift::|_swift_|getCache|tryCast"),
]
STAGES = [(name, re.compile(pattern)) for name, pattern in STAGES]


def samples(path):
    script = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym"], capture_output=True, text=True).stdout
    try:
        script = subprocess.run(["swift", "demangle", "--simplified"], input=script, capture_output=True, text=True).stdout
    except FileNotFoundError:
        pass
    frames = None
    for line in script.splitlines():
        if not line.strip():
            if frames:
                yield frames
            frames = None
        elif not line.startswith("\t"):
            frames = []
        elif frames is not None:
            address, _, symbol = line.strip().partition(" ")
            frames.append((address, symbol or "?"))
    if frames:
        yield frames


def classify(frames):
    symbols = [symbol for _, symbol in frames]
    if any(s.startswith(("fsync", "fdatasync", "do_fsync", "ext4_sync_file")) for s in symbols):
        return "audit fsync (durable append, group commit)"
    if any(HANDOFF.match(s) for s in symbols):
        return "thread hand-offs (scheduler, futex wakes)"
    leaf_address, leaf = frames[0]
    if ALLOCATOR.match(leaf):
        return "allocator (malloc / free, Swift object and task allocation)"
    if leaf_address.startswith("ffffffff"):
        return "kernel (syscalls: socket I/O, epoll, timers)"
    for name, pattern in STAGES:
        if any(pattern.search(s) for s in symbols):
            return name
    return "other"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    per_request = float(sys.argv[2]) if len(sys.argv) > 2 else None
    counts = collections.Counter(classify(frames) for frames in samples(sys.argv[1]))
    total = sum(counts.values())
    if total == 0:
        sys.exit("perf-stages: no samples (is perf installed, and the profile readable?)")
    print(f"| stage | share of samples ({total}) |" + (" µs per request |" if per_request else ""))
    print("|---|---:|" + ("---:|" if per_request else ""))
    for name, count in counts.most_common():
        share = count / total
        print(f"| {name} | {share * 100:.1f} % |" + (f" {share * per_request:.0f} |" if per_request else ""))


if __name__ == "__main__":
    main()
