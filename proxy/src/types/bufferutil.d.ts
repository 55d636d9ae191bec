/** bufferutil (ws's optional native helper) ships no types; these are the two calls it has. */
declare module 'bufferutil' {
  const bufferUtil: {
    /** XORs `buffer` in place with the 4-byte `mask`, starting at the mask's first byte. */
    unmask(buffer: Buffer, mask: Buffer): void;
    mask(source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number): void;
  };
  export default bufferUtil;
}
