import { Command } from 'commander';
import { dlqCommand } from './commands/dlq.command';
import { keysCommand } from './commands/keys.command';
import { lagCommand } from './commands/lag.command';
import { rebuildCommand } from './commands/rebuild.command';
import { replayCommand } from './commands/replay.command';
import { simulateCommand } from './commands/simulate.command';
import { sqlCommand } from './commands/sql.command';
import { topicsCommand } from './commands/topics.command';

const program = new Command('fleetstream')
  .description('fleetstream operations: topics, replay, rebuild, dead letters, lag, fleet simulation, API keys, SQL')
  .addCommand(simulateCommand)
  .addCommand(topicsCommand)
  .addCommand(replayCommand)
  .addCommand(rebuildCommand)
  .addCommand(dlqCommand)
  .addCommand(lagCommand)
  .addCommand(keysCommand)
  .addCommand(sqlCommand);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`fleetstream: ${error instanceof Error ? error.message : String(error)}`);
  // after what is still queued for stdout (a pipe is written asynchronously): exit() would cut it off
  process.stdout.write('', () => process.exit(1));
});
