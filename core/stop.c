// SPDX-License-Identifier: MIT
#include "core/stop.h"

#include <stdatomic.h>

#include "core/event.h"
#include "core/vm.h"

void vm_stop(struct vm *vm, enum vm_stop why)
{
	int running = VM_RUNNING;

	if (atomic_compare_exchange_strong(&vm->stop, &running, (int)why))
		event_loop_stop(vm->loop);
}

bool vm_running(const struct vm *vm)
{
	return atomic_load(&vm->stop) == VM_RUNNING;
}
