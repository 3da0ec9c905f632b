#include <fftw3.h>
static inline const char *tkd_fftwf_version(void) { return fftwf_version; }
