const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` is a UUID (any version, either case): an id in a path or body that is not one names nothing. */
export const isUuid = (s: string): boolean => UUID.test(s);
