export * from './fleetstream.config';
