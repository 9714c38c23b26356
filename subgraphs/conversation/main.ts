import 'reflect-metadata';
import { runService } from '../../common/lifecycle';
import { startConversationSubgraph } from './app';
import { loadConversationConfig } from './config';

runService('conversation', () => loadConversationConfig(), startConversationSubgraph);
