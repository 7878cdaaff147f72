/* crc32c: the Castagnoli CRC (iSCSI, ext4, RFC 3720) with the CPU's
 * CRC32C instruction where there is one (x86-64 with SSE4.2), else in
 * software, slicing-by-8; checksums the spool's records. No state but the
 * tables and that choice, made once; no allocation. */
#ifndef MLW_AGENT_CRC32C_H
#define MLW_AGENT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over buf[0..len); start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
