import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { JWK } from 'jose' with { 'resolution-mode': 'import' };
import type { AccessTokenAlgorithm } from '../../../../common/identity/access-token';
import type { SealedJwk } from '../../records/signing-key.record';

/** An access-token signing key pair, as JWKs. The newest active one signs; see signing-keys.ts. */
@Entity({ tableName: 'signing_keys' })
export class SigningKeyEntity {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 64 })
  kid!: string;

  @Property({ type: 'string', length: 16 })
  algorithm!: AccessTokenAlgorithm;

  @Property({ type: 'json' })
  publicJwk!: JWK;

  /** Sealed (encrypted) when SIGNING_KEY_ENCRYPTION_KEY is set; see services/key-sealing.ts. */
  @Property({ type: 'json', hidden: true })
  privateJwk!: JWK | SealedJwk;

  @Property({ type: 'Date', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** Published from creation, signing from this moment until a newer key activates. */
  @Property({ type: 'Date' })
  activatesAt!: Date;
}
