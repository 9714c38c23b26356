import { ConnectionType } from '../../../common/pagination';
import { User } from './user';

export const UserConnection = ConnectionType('User', User);
