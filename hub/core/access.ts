/**
 * Who may do what, and for which municipalities. Pure.
 *
 * Every record belongs to a municipality (tenant). A user serves the municipalities listed on
 * their account; an administrator serves all of them. Reading a resident needs a role whose work
 * requires it (Normen: access on need to know).
 */
export const ROLES = ['operator', 'technician', 'leader', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | 'tenants:read' | 'tenants:write'
  | 'users:write'
  | 'residents:read' | 'residents:write'
  | 'devices:read' | 'devices:write'
  | 'events:read'
  | 'alarms:read' | 'alarms:handle'
  | 'rules:read' | 'rules:write'
  | 'maintenance:write'
  | 'stats:read'
  | 'audit:read'
  | 'subjects:manage';

const GRANTS: Record<Role, readonly Permission[]> = {
  operator: ['tenants:read', 'residents:read', 'devices:read', 'events:read', 'alarms:read', 'alarms:handle', 'rules:read'],
  technician: ['tenants:read', 'residents:read', 'residents:write', 'devices:read', 'devices:write', 'events:read', 'alarms:read', 'alarms:handle', 'rules:read', 'maintenance:write'],
  leader: ['tenants:read', 'rules:read', 'stats:read'],
  admin: [
    'tenants:read', 'tenants:write', 'users:write', 'residents:read', 'residents:write', 'devices:read', 'devices:write', 'events:read',
    'alarms:read', 'alarms:handle', 'rules:read', 'rules:write', 'maintenance:write', 'stats:read', 'audit:read', 'subjects:manage',
  ],
};

/**
 * A signed-in user. `sessionId` names the session (the hash of its token), where there is one.
 * `allTenants`: an administrator who serves every municipality. `mustChangePassword`: may do
 * nothing but change the password (a generated or reset one).
 */
export type Principal = {
  userId: string; username: string; role: Role; tenantIds: readonly string[]; sessionId?: string; allTenants?: boolean; mustChangePassword?: boolean;
};

/** Whether two principals may see exactly the same things. */
export function samePermissions(a: Principal, b: Principal): boolean {
  return a.role === b.role && !!a.allTenants === !!b.allTenants && a.tenantIds.length === b.tenantIds.length && a.tenantIds.every((t) => b.tenantIds.includes(t));
}

export function can(p: Principal, permission: Permission): boolean {
  return GRANTS[p.role].includes(permission);
}

/** Only an administrator given all municipalities serves them all; every other user, the ones listed. */
export function servesAllTenants(p: Principal): boolean {
  return p.role === 'admin' && p.allTenants === true;
}

export function servesTenant(p: Principal, tenantId: string): boolean {
  return servesAllTenants(p) || p.tenantIds.includes(tenantId);
}
