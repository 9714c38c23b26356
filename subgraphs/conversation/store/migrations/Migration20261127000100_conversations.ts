import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000100_conversations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "conversations" (
      "id" uuid not null,
      "owner_id" uuid not null,
      "title" varchar(200) not null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      "last_activity_at" timestamptz not null,
      constraint "conversations_pkey" primary key ("id"));`);
    this.addSql(
      `create index "conversations_owner_activity_idx" on "conversations" ("owner_id", "last_activity_at", "id");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "conversations" cascade;`);
  }
}
