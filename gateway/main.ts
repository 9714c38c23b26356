import 'reflect-metadata';
import { runService } from '../common/lifecycle';
import { startGateway } from './app';
import { loadGatewayConfig } from './config';

runService('gateway', () => loadGatewayConfig(), startGateway);
