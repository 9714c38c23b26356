import 'reflect-metadata';
import { runService } from '../common/server/lifecycle';
import { loadGatewayConfig } from './config';

runService(
  'gateway',
  () => loadGatewayConfig(),
  (config, logger) =>
    // Required only now, once runService has set up tracing, which hooks pg and ioredis as they load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./app') as typeof import('./app')).startGateway(config, logger),
);
