// SPDX-License-Identifier: GPL-2.0
/*
 * cxxorders - lock-order inversions in C++: std::mutex with std::lock_guard,
 * std::shared_mutex with std::shared_lock and std::unique_lock. Each pass
 * completes (the threads take turns): the bug is there, the timing is not.
 *
 *   cxxorders MODE
 *     mutex    thread "deposit" locks Account::mu of from, then of to;
 *              thread "refund" does the same with the accounts swapped
 *     shared   thread "reader" holds Index::mu shared and locks Table::mu;
 *              thread "writer" holds Table::mu shared and locks Index::mu
 *
 * Environment: LW_ORDERS_LINGER=SECONDS, stay that long after the work.
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <shared_mutex>
#include <thread>

struct Account {
	std::mutex mu;
	long balance = 100;
};

struct Index {
	std::shared_mutex mu;
};

struct Table {
	std::shared_mutex mu;
};

static Account checking, savings;
static Index index_;
static Table table_;

__attribute__((noinline)) static void transfer(Account &from, Account &to, long amount)
{
	std::lock_guard<std::mutex> a(from.mu);
	std::lock_guard<std::mutex> b(to.mu);
	from.balance -= amount;
	to.balance += amount;
}

__attribute__((noinline)) static void lookup_then_update()
{
	std::shared_lock<std::shared_mutex> r(index_.mu);
	std::unique_lock<std::shared_mutex> w(table_.mu);
}

__attribute__((noinline)) static void scan_then_reindex()
{
	std::shared_lock<std::shared_mutex> r(table_.mu);
	std::unique_lock<std::shared_mutex> w(index_.mu);
}

/* Runs fn in a thread named name, to its end. */
template <typename F> static void run(const char *name, F fn)
{
	std::thread t([name, fn] {
		pthread_setname_np(pthread_self(), name);
		fn();
	});
	t.join();
}

int main(int argc, char **argv)
{
	const char *linger = getenv("LW_ORDERS_LINGER");

	if (argc != 2) {
		fprintf(stderr, "usage: cxxorders mutex|shared\n");
		return 2;
	}
	if (!strcmp(argv[1], "mutex")) {
		run("deposit", [] { transfer(checking, savings, 10); });
		run("refund", [] { transfer(savings, checking, 10); });
	} else if (!strcmp(argv[1], "shared")) {
		run("reader", [] { lookup_then_update(); });
		run("writer", [] { scan_then_reindex(); });
	} else {
		fprintf(stderr, "cxxorders: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (linger)
		std::this_thread::sleep_for(std::chrono::seconds(atoi(linger)));
	return 0;
}
