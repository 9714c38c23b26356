import { EmailVerificationTokenEntity } from './email-verification-token.entity';
import { PasswordResetTokenEntity } from './password-reset-token.entity';
import { RefreshTokenEntity } from './refresh-token.entity';
import { SessionEntity } from './session.entity';
import { SigningKeyEntity } from './signing-key.entity';
import { UserEntity } from './user.entity';

/** Every table of auth's schema, for MikroORM (the server and the command line alike). */
export const authEntities = [
  UserEntity,
  SessionEntity,
  RefreshTokenEntity,
  PasswordResetTokenEntity,
  EmailVerificationTokenEntity,
  SigningKeyEntity,
];
