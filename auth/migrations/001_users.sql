create table auth.users (
  id uuid primary key default gen_random_uuid(),
  -- Stored lower-cased, so the unique index compares case-insensitively.
  email text not null check (email = lower(email)),
  password_hash text not null,
  name text not null,
  created_at timestamptz not null default now()
);
create unique index users_email_key on auth.users (email);
