// CNI spec versions the shim speaks, oldest first, and the version gates of the spec.

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export function isSupportedVersion(value: string): value is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(value);
}

/** Negative, zero or positive as `a` is older than, equal to or newer than `b` (both supported). */
export function compareVersions(a: CniVersion, b: CniVersion): number {
  return SUPPORTED_VERSIONS.indexOf(a) - SUPPORTED_VERSIONS.indexOf(b);
}

export function isAtLeast(version: CniVersion, minimum: CniVersion): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** The first spec version that defines each verb (CHECK came with 0.4.0, GC and STATUS with 1.1.0). */
export const FIRST_VERSION_OF = {
  ADD: '0.1.0',
  DEL: '0.1.0',
  VERSION: '0.1.0',
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
} as const satisfies Record<string, CniVersion>;
