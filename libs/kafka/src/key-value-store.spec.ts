import { InMemoryStore } from './key-value-store';
import { describeKeyValueStore } from './key-value-store.contract';

describeKeyValueStore('InMemoryStore', () => new InMemoryStore());
