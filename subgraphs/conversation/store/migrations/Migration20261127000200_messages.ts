import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000200_messages extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "messages" (
      "id" uuid not null,
      "seq" bigint generated always as identity,
      "conversation_id" uuid not null,
      "parent_id" uuid null,
      "depth" integer not null,
      "role" text not null,
      "content" text not null,
      "status" text not null,
      "model" varchar(100) null,
      "prompt_tokens" integer null,
      "completion_tokens" integer null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      constraint "messages_pkey" primary key ("id"),
      constraint "messages_conversation_fk" foreign key ("conversation_id")
        references "conversations" ("id") on delete cascade,
      constraint "messages_parent_fk" foreign key ("parent_id")
        references "messages" ("id") on delete cascade,
      constraint "messages_role_check" check ("role" in ('USER', 'ASSISTANT', 'SYSTEM')),
      constraint "messages_status_check"
        check ("status" in ('COMPLETE', 'STREAMING', 'STOPPED', 'INTERRUPTED', 'FAILED')),
      constraint "messages_depth_check" check ("depth" >= 0));`);
    this.addSql(`create index "messages_parent_seq_idx" on "messages" ("parent_id", "seq");`);
    this.addSql(`create index "messages_conversation_seq_idx" on "messages" ("conversation_id", "seq");`);
    this.addSql(
      `create index "messages_streaming_idx" on "messages" ("conversation_id") where "status" = 'STREAMING';`,
    );

    this.addSql(`alter table "conversations" add column "active_leaf_id" uuid null;`);
    this.addSql(`alter table "conversations" add constraint "conversations_active_leaf_fk"
      foreign key ("active_leaf_id") references "messages" ("id") on delete set null;`);

    this.addSql(`create table "search_outbox" (
      "id" bigint generated always as identity,
      "operation" text not null,
      "message_id" uuid null,
      "conversation_id" uuid not null,
      "attempts" integer not null default 0,
      "available_at" timestamptz not null,
      "last_error" text null,
      "created_at" timestamptz not null,
      constraint "search_outbox_pkey" primary key ("id"),
      constraint "search_outbox_operation_check"
        check ("operation" in ('UPSERT_MESSAGE', 'DELETE_CONVERSATION')));`);
    this.addSql(`create index "search_outbox_available_idx" on "search_outbox" ("available_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "search_outbox";`);
    this.addSql(`alter table "conversations" drop constraint if exists "conversations_active_leaf_fk";`);
    this.addSql(`alter table "conversations" drop column if exists "active_leaf_id";`);
    this.addSql(`drop table if exists "messages";`);
  }
}
