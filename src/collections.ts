/** Adds `value` to the list kept under `key`, starting the list if there is none (Map.groupBy is Node 21+). */
export function addTo<K, V>(groups: Map<K, V[]>, key: K, value: V): void {
  const list = groups.get(key);
  if (list) list.push(value);
  else groups.set(key, [value]);
}
