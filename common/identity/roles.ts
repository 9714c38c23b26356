/** A user's role, from least to most privileged; each grants what the ones before it grant. */
export const ROLES = ['USER', 'ADMIN'] as const;

export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => ROLES.includes(value as Role);

/** Whether `role` grants at least what `required` grants. */
export const grants = (role: Role, required: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(required);
