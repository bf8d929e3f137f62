// Preloaded into Asgard under valgrind by scripts/bench_instructions.py, nowhere else.
//
// A Swift async main parks the main thread in libdispatch's _dispatch_sig_thread, which calls
// sigsuspend() with a mask in read-only memory. valgrind 3.19 writes into the mask it is given
// and dies of SIGSEGV ("the 'impossible' happened"). This sigsuspend hands the kernel a copy.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);  // 8: the kernel's sigset size on Linux
}
