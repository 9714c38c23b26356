import { ConnectionType } from '../../../common/graphql/pagination';
import { User } from './user';

export const UserConnection = ConnectionType('User', User);
