import type { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction } from '../../../common/stores/transaction';
import type { SigningKeyRecord } from '../records/signing-key.record';
import { SigningKeyEntity } from '../store/entities/signing-key.entity';

const toRecord = ({
  kid,
  algorithm,
  publicJwk,
  privateJwk,
  activatesAt,
}: SigningKeyEntity): SigningKeyRecord => ({
  kid,
  algorithm,
  publicJwk,
  privateJwk,
  activatesAt,
});

/** The `signing_keys` table; each method is its own unit of work. */
export class SigningKeyRepository {
  constructor(private readonly em: EntityManager) {}

  /** Every key, by activation. */
  async list(): Promise<SigningKeyRecord[]> {
    const keys = await this.em
      .fork()
      .find(SigningKeyEntity, {}, { orderBy: { activatesAt: 'asc', kid: 'asc' } });
    return keys.map(toRecord);
  }

  /** Stores the key `make` makes if there is none; the table is locked meanwhile, so replicas starting together make one. */
  async insertIfNone(make: () => Promise<SigningKeyRecord>): Promise<void> {
    await inTransaction(this.em, async (em) => {
      await em.execute('lock table "signing_keys" in share row exclusive mode');
      if ((await em.count(SigningKeyEntity)) > 0) return;
      await em.insert(Object.assign(new SigningKeyEntity(), await make()));
    });
  }

  async insert(key: SigningKeyRecord): Promise<void> {
    await this.em.fork().insert(Object.assign(new SigningKeyEntity(), key));
  }

  /** Replaces the stored private JWKs of these keys (same key ids), all or none. */
  async replacePrivateJwks(keys: readonly Pick<SigningKeyRecord, 'kid' | 'privateJwk'>[]): Promise<void> {
    if (keys.length === 0) return;
    await inTransaction(this.em, async (em) => {
      for (const { kid, privateJwk } of keys)
        await em.nativeUpdate(SigningKeyEntity, { kid }, { privateJwk });
    });
  }

  deleteByKids(kids: readonly string[]): Promise<number> {
    return this.em.fork().nativeDelete(SigningKeyEntity, { kid: { $in: [...kids] } });
  }
}
