import { InMemoryStore } from './key-value-store';
import { describeKeyValueStore } from '../../../test/support/key-value-store.contract';

describeKeyValueStore('InMemoryStore', () => new InMemoryStore());
