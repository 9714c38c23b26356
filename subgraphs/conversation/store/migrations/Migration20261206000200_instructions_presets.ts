import { Migration } from '@mikro-orm/migrations';

/** Per-user custom instructions and presets, and the conversation's switch for the instructions. */
export class Migration20261206000200_instructions_presets extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "conversations" add column "instructions_enabled" boolean not null default true;`,
    );
    this.addSql(`create table "user_instructions" (
      "owner_id" uuid not null,
      "about_me" text not null,
      "how_to_answer" text not null,
      "updated_at" timestamptz not null,
      constraint "user_instructions_pkey" primary key ("owner_id"));`);
    this.addSql(`create table "presets" (
      "id" uuid not null,
      "owner_id" uuid not null,
      "name" varchar(100) not null,
      "model" varchar(200) null,
      "system_prompt" text null,
      "temperature" double precision null,
      "top_p" double precision null,
      "max_output_tokens" int null,
      "recall_enabled" boolean not null default true,
      "instructions_enabled" boolean not null default true,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      constraint "presets_pkey" primary key ("id"));`);
    this.addSql(`create index "presets_owner_idx" on "presets" ("owner_id", "created_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "presets" cascade;`);
    this.addSql(`drop table if exists "user_instructions" cascade;`);
    this.addSql(`alter table "conversations" drop column if exists "instructions_enabled";`);
  }
}
