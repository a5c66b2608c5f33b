import { Command } from 'commander';
import { simulateCommand } from './commands/simulate.command';
import { topicsCommand } from './commands/topics.command';

const program = new Command('fleetstream')
  .description('fleetstream operations: topics, fleet simulation')
  .addCommand(simulateCommand)
  .addCommand(topicsCommand);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`fleetstream: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
