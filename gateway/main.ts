import 'reflect-metadata';
import { runService } from '../common/server/lifecycle';
import { startGateway } from './app';
import { loadGatewayConfig } from './config';

runService('gateway', () => loadGatewayConfig(), startGateway);
