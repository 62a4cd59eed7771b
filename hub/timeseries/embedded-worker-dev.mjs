// The time-series worker from the sources (`npm start`, the tests): its TypeScript loaded
// through tsx, a development dependency. The production build starts embedded-worker.js.
import { register } from 'tsx/esm/api';

register();
await import('./embedded-worker.ts');
