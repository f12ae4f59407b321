// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cxx_blocker: a C++ thread blocked in a member function, for the
 * end-to-end test of demangled symbols.
 *
 *   cxx_blocker        (no arguments)
 *
 * main locks a std::mutex, then starts a thread named "cxx-waiter" that
 * calls bw::Waiter::wait_for(m), which locks the same mutex: it waits in
 * pthread_mutex_lock forever. Once /proc/self/task/TID/{stat,syscall}
 * shows the thread asleep (state S) in futex() on the mutex, main prints
 * "ready PID TID" and reads stdin; end of file ends the process (exit 0).
 * Errors: one line on stderr, exit 1.
 */
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bw {

struct Waiter {
	void wait_for(std::mutex &m);
	unsigned long waits = 0;
};

__attribute__((noinline)) void Waiter::wait_for(std::mutex &m)
{
	m.lock();
	__asm__ __volatile__("" ::: "memory");
	waits++;
	m.unlock();
}

} // namespace bw

namespace {

[[noreturn]] void die(const char *what)
{
	std::fprintf(stderr, "cxx_blocker: %s\n", what);
	std::exit(1);
}

std::atomic<int> waiter_tid{0};

/* Asleep (S) in futex() with the mutex as its first argument? */
bool blocked(int tid, const void *word)
{
	char path[64], buf[256];
	unsigned long arg0 = 0;
	long nr = -1;
	bool ok = false;

	std::snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	std::FILE *f = std::fopen(path, "r");
	if (!f)
		die("cannot open /proc/self/task/TID/stat");
	if (std::fgets(buf, sizeof(buf), f)) {
		const char *p = std::strrchr(buf, ')');
		ok = p && p[1] == ' ' && p[2] == 'S';
	}
	std::fclose(f);
	if (!ok)
		return false;
	std::snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = std::fopen(path, "r");
	if (!f)
		die("cannot open /proc/self/task/TID/syscall");
	ok = std::fscanf(f, "%ld 0x%lx", &nr, &arg0) == 2;
	std::fclose(f);
	return ok && nr == SYS_futex &&
	       arg0 == reinterpret_cast<unsigned long>(word);
}

} // namespace

int main()
{
	static std::mutex m;
	bw::Waiter waiter;

	m.lock();
	std::thread t([&waiter] {
		pthread_setname_np(pthread_self(), "cxx-waiter");
		waiter_tid = static_cast<int>(syscall(SYS_gettid));
		waiter.wait_for(m);
	});
	t.detach();

	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	while (!waiter_tid || !blocked(waiter_tid, &m)) {
		if (std::chrono::steady_clock::now() > deadline)
			die("the waiter did not block");
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	std::printf("ready %d %d\n", static_cast<int>(getpid()), waiter_tid.load());
	std::fflush(stdout);

	char line[64];
	while (std::fgets(line, sizeof(line), stdin))
		;
	return 0;
}
