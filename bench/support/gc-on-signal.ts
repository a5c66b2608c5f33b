/**
 * Preloaded into a bench's server (`--expose-gc --require`): SIGWINCH runs a full garbage collection
 * (the service's shutdown hooks own SIGUSR2 and the other terminating signals),
 * so a memory figure read right after counts what the server holds, not garbage not collected yet.
 */
process.on('SIGWINCH', () => (globalThis as { gc?: () => void }).gc?.());
