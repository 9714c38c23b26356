import { Migration } from '@mikro-orm/migrations';

/** What a user asked the assistant to remember, and each user's switch for recall from other conversations. */
export class Migration20261206000300_memories extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "memories" (
      "id" uuid not null,
      "owner_id" uuid not null,
      "text" text not null,
      "created_at" timestamptz not null,
      constraint "memories_pkey" primary key ("id"));`);
    this.addSql(`create index "memories_owner_idx" on "memories" ("owner_id", "created_at", "id");`);
    this.addSql(`create table "user_recall" (
      "owner_id" uuid not null,
      "recall_enabled" boolean not null,
      "updated_at" timestamptz not null,
      constraint "user_recall_pkey" primary key ("owner_id"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "user_recall" cascade;`);
    this.addSql(`drop table if exists "memories" cascade;`);
  }
}
