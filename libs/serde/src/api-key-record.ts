import { API_KEY_NAME, isRole, Role } from '@fleetstream/domain';
import { createHash, randomBytes } from 'node:crypto';

/** The Avro shape of fleet.api-keys records (schemas/api-key.avsc). */
export interface ApiKeyRecord {
  name: string;
  role: string;
  keyHash: string;
  createdAt: number;
  createdBy: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

/** A key the service honours: a known role, not revoked. */
export interface LiveApiKey {
  name: string;
  role: Role;
}

/** Every key starts with this, so a leaked one is recognisable (secret scanners, logs) and never taken for a JWT. */
export const API_KEY_PREFIX = 'fsk_';

/**
 * A new secret: 32 random bytes (256 bits), base64url. With that much entropy one SHA-256 is as safe
 * to store as a slow password hash, and a lookup per request stays a hash-map get.
 */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** What fleet.api-keys stores instead of the secret. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Why a record on fleet.api-keys grants nothing, or null when it is a live key. */
export function apiKeyProblem(record: ApiKeyRecord): string | null {
  if (!API_KEY_NAME.test(record.name)) return `name ${JSON.stringify(record.name)} is not a valid key name`;
  if (!isRole(record.role)) return `role ${JSON.stringify(record.role)} is not one of viewer, operator, admin, analyst, metrics`;
  if (!/^[0-9a-f]{64}$/.test(record.keyHash)) return 'keyHash is not a SHA-256 in hex';
  return null;
}
