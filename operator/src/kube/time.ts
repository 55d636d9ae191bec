/** Time in the formats the API server takes. */

/** Microseconds since the epoch in the API's MicroTime format (6 fractional digits). */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
