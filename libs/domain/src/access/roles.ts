/** The roles a caller can hold; a credential carries one (an API key) or several (a token's roles claim). */
export const ROLES = ['viewer', 'operator', 'admin', 'analyst', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * What a route does, as the right it needs. Each route declares exactly one; a route that declares
 * none is refused to everybody, so a new route cannot be open by mistake.
 */
export const RIGHTS = {
  'twins:read': ['viewer', 'operator', 'admin'],
  'history:read': ['viewer', 'operator', 'admin', 'analyst'],
  'commands:read': ['viewer', 'operator', 'admin'],
  'commands:write': ['operator', 'admin'],
  'desired:write': ['operator', 'admin'],
  'devices:delete': ['admin'],
  'metrics:read': ['metrics', 'admin'],
  'sql:read': ['analyst', 'admin'],
  'alert-rules:read': ['viewer', 'operator', 'admin'],
  'alert-rules:write': ['operator', 'admin'],
  'alerts:acknowledge': ['operator', 'admin'],
  'alerts:read': ['viewer', 'operator', 'admin'],
  // a dead letter holds a record's payload as it was sent: only admins read them
  'dead-letters:read': ['admin'],
  // who the caller is and what it may do (GET /auth/whoami): every role, so a client can ask before it offers an action
  'identity:read': ROLES,
} as const satisfies Record<string, readonly Role[]>;
export type Right = keyof typeof RIGHTS;

/** The roles that hold a right. */
export function rolesFor(right: Right): readonly Role[] {
  return RIGHTS[right];
}

/** Whether any of the caller's roles holds the right. */
export function mayExercise(roles: readonly Role[], right: Right): boolean {
  const allowed: readonly Role[] = RIGHTS[right];
  return roles.some((role) => allowed.includes(role));
}

/** Every right the roles hold, in the order of RIGHTS. */
export function rightsOf(roles: readonly Role[]): Right[] {
  return (Object.keys(RIGHTS) as Right[]).filter((right) => mayExercise(roles, right));
}

/** The roles in a token claim: an array of names, or one string of names separated by spaces or commas; unknown names are dropped. */
export function rolesFromClaim(claim: unknown): Role[] {
  const names = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/[\s,]+/) : [];
  return [...new Set(names.filter(isRole))];
}

/** API key names: what `keys revoke` and audit lines refer to. */
export const API_KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
