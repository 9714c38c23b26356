import 'reflect-metadata';
import { runService } from '../../common/server/lifecycle';
import { startConversationSubgraph } from './app';
import { loadConversationConfig } from './config';

runService('conversation', () => loadConversationConfig(), startConversationSubgraph);
