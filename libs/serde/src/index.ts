export * from './registry-codec';
export * from './schema-files';
