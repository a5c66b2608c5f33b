/**
 * Preloaded into a bench's server (`--require`, with BENCH_CPU_PROFILE_FILE set): profiles the
 * JavaScript thread from start to SIGTERM (or exit) and writes a .cpuprofile (Chrome DevTools, speedscope) there.
 * Node refuses --cpu-prof in NODE_OPTIONS; the inspector's in-thread session answers synchronously,
 * so the profile is written within the exit handler.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_CPU_PROFILE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // Nest's shutdown hooks end the process by raising SIGTERM again, which fires no 'exit': write on
  // the first SIGTERM, then step aside so that the second one ends the process
  const write = () => {
    process.off('SIGTERM', write);
    process.off('exit', write);
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(file, JSON.stringify(result.profile));
    });
  };
  process.on('SIGTERM', write);
  process.on('exit', write);
}
