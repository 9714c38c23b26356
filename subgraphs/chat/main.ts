import 'reflect-metadata';
import { runService } from '../../common/server/lifecycle';
import { startChatSubgraph } from './app';
import { loadChatConfig } from './config';

runService('chat', () => loadChatConfig(), startChatSubgraph);
