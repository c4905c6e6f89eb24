/* maps/map_io.h — many map entries written or deleted at once (BPF_MAP_*_BATCH, split over the CPUs). */
#ifndef VPCBPF_MAP_IO_H
#define VPCBPF_MAP_IO_H

#include <stddef.h>

/* Writes n entries. 0, or a negative errno. */
int write_entries(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n);
/* Deletes the given keys, skipping any already gone. */
int delete_entries(int fd, const void *keys, size_t ksz, size_t n);

#endif
