import 'reflect-metadata';
import { runService } from '../../common/server/lifecycle';
import { startAuthSubgraph } from './app';
import { loadAuthConfig } from './config';

runService('auth', () => loadAuthConfig(), startAuthSubgraph);
