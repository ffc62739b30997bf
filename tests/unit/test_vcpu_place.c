// SPDX-License-Identifier: MIT
/*
 * vCPU placement (core/vcpu.c, CONFIG_VCPU_PLACEMENT): a vCPU thread is
 * named vcpuN and pinned to its --cpus affinity list before it runs, a
 * vCPU the list leaves out keeps the CPUs it had, and the affinity check
 * before the VM refuses a list with no usable CPU while giving the
 * calling thread its own CPUs back.  Core scheduling cookies where this
 * host's kernel has them (PR_SCHED_CORE_GET): one for every vCPU with
 * core_scheduling=vm, one each with vcpu, none with off; where it has
 * not (EINVAL, ENODEV), placing still succeeds, as in cloud-hypervisor.
 */
#include "unit.h"

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_VCPU_PLACEMENT)

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/config.h"
#include "core/vcpu.h"
#include "core/vm.h"

#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE 62
#endif

struct placed {
	struct vcpu v;
	int ret;
	char name[16];
	cpu_set_t cpus;
	unsigned long long cookie;
	int cookie_err;		/* errno of PR_SCHED_CORE_GET, 0 if it worked */
	pthread_barrier_t *hold;	/* keeps the thread (a cookie's owner) alive */
};

static void *place(void *arg)
{
	struct placed *p = arg;

	p->ret = vcpu_place(&p->v);
	prctl(PR_GET_NAME, p->name);
	sched_getaffinity(0, sizeof(p->cpus), &p->cpus);
	p->cookie_err = prctl(PR_SCHED_CORE, 0 /* GET */, 0, 0, &p->cookie) ? errno : 0;
	pthread_barrier_wait(p->hold);
	return NULL;
}

/* Places vCPUs 0..n-1 of a VM with `cfg`, each on a thread of its own,
 * all alive until every one has looked at itself. */
static void place_all(struct vm_config *cfg, struct placed *p, unsigned n)
{
	static struct vm vm;
	pthread_barrier_t hold;
	pthread_t t[4];

	vm.cfg = cfg;
	pthread_barrier_init(&hold, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].v.vm = &vm;
		p[i].v.index = i;
		p[i].hold = &hold;
		assert_int_equal(pthread_create(&t[i], NULL, place, &p[i]), 0);
	}
	pthread_barrier_wait(&hold);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&hold);
}

static void test_affinity(void **state)
{
	struct cpu_affinity a = { .index = 1 };
	struct vm_config cfg = { .cpus = 2, .cpu_affinity = &a, .cpu_naffinity = 1,
				 .core_scheduling = CORE_SCHED_OFF };
	struct placed p[2];
	cpu_set_t own;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(own), &own), 0);
	for (int c = 0; c < CPU_SETSIZE; c++) {	/* the last CPU this test may use */
		if (CPU_ISSET(c, &own)) {
			CPU_ZERO(&a.host_cpus);
			CPU_SET(c, &a.host_cpus);
		}
	}
	place_all(&cfg, p, 2);
	assert_int_equal(p[0].ret, 0);
	assert_int_equal(p[1].ret, 0);
	assert_string_equal(p[0].name, "vcpu0");
	assert_string_equal(p[1].name, "vcpu1");
	assert_true(CPU_EQUAL(&p[1].cpus, &a.host_cpus));	/* pinned */
	assert_true(CPU_EQUAL(&p[0].cpus, &own));		/* left alone */
	assert_int_equal(vcpus_check_affinity(&cfg), 0);
}

/* A list of CPUs none of which is there: refused before the VM, and
 * the calling thread keeps its CPUs. */
static void test_check_refuses(void **state)
{
	struct cpu_affinity a = { .index = 0 };
	struct vm_config cfg = { .cpus = 1, .cpu_affinity = &a, .cpu_naffinity = 1 };
	cpu_set_t own, after;

	(void)state;
	CPU_ZERO(&a.host_cpus);
	CPU_SET(CPU_SETSIZE - 1, &a.host_cpus);
	assert_int_equal(sched_getaffinity(0, sizeof(own), &own), 0);
	if (CPU_ISSET(CPU_SETSIZE - 1, &own))
		skip();		/* a machine with 1024 CPUs */
	assert_int_equal(vcpus_check_affinity(&cfg), -1);
	assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
	assert_true(CPU_EQUAL(&own, &after));
}

static void test_core_scheduling(void **state)
{
	struct vm_config cfg = { .cpus = 3, .core_scheduling = CORE_SCHED_VM };
	struct placed p[3];

	(void)state;
	place_all(&cfg, p, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(p[i].ret, 0);	/* with or without kernel support */
	if (p[0].cookie_err == EINVAL || p[0].cookie_err == ENODEV || p[0].cookie_err == EPERM) {
		fprintf(stderr, "core scheduling: not on this host (errno %d): cookies unchecked\n",
			p[0].cookie_err);
		return;
	}
	/* vm: one cookie, not none */
	assert_int_equal(p[0].cookie_err, 0);
	assert_true(p[0].cookie != 0);
	assert_true(p[1].cookie == p[0].cookie && p[2].cookie == p[0].cookie);
	/* vcpu: one each */
	cfg.core_scheduling = CORE_SCHED_VCPU;
	place_all(&cfg, p, 2);
	assert_true(p[0].cookie && p[1].cookie && p[0].cookie != p[1].cookie);
	/* off: none */
	cfg.core_scheduling = CORE_SCHED_OFF;
	place_all(&cfg, p, 1);
	assert_true(p[0].cookie == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_core_scheduling),
	};

	return cmocka_run_group_tests_name("vcpu placement", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("vcpu placement")

#endif
