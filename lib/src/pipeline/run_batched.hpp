// The one batching pipeline behind every subcommand that runs the model over an input (embed,
// classify, train-head's features): DESIGN.md's data flow in one place.
//
//   step 0, reader thread:  input items -> batches of at most budget.tokens tokens (each item
//                           costs its length plus budget.extra_per_item, e.g. the [SEP] token;
//                           an item longer than the budget is a batch of its own; an item that
//                           costs nothing joins the current batch)
//   step 1, compute thread: compute(batch) -> one result per batch, in order
//   step 2, calling thread: write(result), in input order
//
// Bounded queues of budget.queue_depth batches between the steps keep memory flat whatever the
// input's size. One compute thread keeps results in input order; what a batch computes must not
// depend on how the items were batched (the engines guarantee that for packed passes). The
// first exception in any step closes both queues, the other steps stop, and it is rethrown
// here after every thread has joined; `write` is never called after it (the writers' outputs
// stay temporaries, see io/atomic_output).
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "pipeline/queue.hpp"

namespace dnamba::pipeline {

// Most tokens one batch may hold: token positions are int in the engines and kernels, and a
// budget above this would only pack a whole genome into one pass (memory, not speed).
constexpr std::size_t k_max_batch_tokens = std::size_t{1} << 30;

// std::thread(f), with a failure to create the thread (a process or thread limit: ulimit -u,
// a cgroup's pids.max; no memory for its stack) as Error(device) naming `what` instead of a
// std::system_error that would end as an internal error.
template <typename F>
std::thread start_thread(const char* what, F&& f) {
    try {
        return std::thread(std::forward<F>(f));
    } catch (const std::system_error& e) {
        fail(ErrorKind::device, std::string("cannot start the ") + what + " thread: " + e.what() +
                                    " (too many processes or threads for this user, see ulimit -u, or too little memory)");
    }
}

struct BatchBudget {
    std::size_t tokens = 65536;       // tokens per batch (one forward pass)
    std::size_t extra_per_item = 0;   // tokens an item costs beyond its bases ([SEP])
    std::size_t queue_depth = 2;      // batches in flight between two steps
};

// Runs the three steps over the items `next(Item&)` gives (false at the end), each costing
// `cost(item)` tokens of the budget (budget.extra_per_item is not added: the cost says it all):
// the generic form, for inputs that are not an InputSource (the variants of `dnamba vep`). An
// item of cost 0 never starts a batch: it rides on a pass of the item before it (vep's records
// that share one window).
// Compute: Result(std::vector<Item>&) (it may move the items' contents); Write: void(Result&).
template <typename Item, typename Next, typename Cost, typename Compute, typename Write>
void run_batched_items(Next&& next, Cost&& cost, const BatchBudget& budget, Compute&& compute, Write&& write) {
    using Result = decltype(compute(std::declval<std::vector<Item>&>()));
    if (budget.tokens < 1 || budget.tokens > k_max_batch_tokens)
        fail(ErrorKind::usage, "--batch-tokens " + std::to_string(budget.tokens) + ": expected 1 to " +
                                   std::to_string(k_max_batch_tokens));
    BoundedQueue<std::vector<Item>> batches(budget.queue_depth);
    BoundedQueue<Result> results(budget.queue_depth);
    std::mutex error_mutex;
    std::exception_ptr error;
    auto record_error = [&](std::exception_ptr e) {
        {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = e;
        }
        batches.close();
        results.close();
    };
    auto failed = [&] {
        std::lock_guard<std::mutex> lock(error_mutex);
        return static_cast<bool>(error);
    };

    // step 0: read items, pack them into batches
    std::thread reader = start_thread("reader", [&] {
        try {
            std::vector<Item> batch;
            std::size_t tokens = 0;
            Item item;
            while (next(item)) {
                const std::size_t n = cost(item);
                if (!batch.empty() && n > 0 && tokens + n > budget.tokens) {
                    if (!batches.push(std::move(batch))) return;
                    batch = std::vector<Item>();
                    tokens = 0;
                }
                tokens += n;
                batch.push_back(std::move(item));
                item = Item{};
            }
            if (!batch.empty() && !batches.push(std::move(batch))) return;
            batches.close();
        } catch (...) {
            record_error(std::current_exception());
        }
    });
    // step 1: compute, one batch at a time, in order
    std::thread worker;
    try {
        worker = start_thread("compute", [&] {
            try {
                while (auto batch = batches.pop()) {
                    if (!results.push(compute(*batch))) return;
                }
                results.close();
            } catch (...) {
                record_error(std::current_exception());
            }
        });
    } catch (...) {
        batches.close();  // the reader's next push fails and it returns
        reader.join();
        throw;
    }
    // step 2: write, on the calling thread, in input order
    try {
        while (auto r = results.pop()) {
            if (failed()) break;
            write(*r);
        }
    } catch (...) {
        record_error(std::current_exception());
    }
    reader.join();
    worker.join();
    if (error) std::rethrow_exception(error);
}

// Runs the three steps over `source` until it is exhausted. Compute: Result(std::vector<
// InputItem>&) (it may move the items' contents); Write: void(Result&).
template <typename Compute, typename Write>
void run_batched(InputSource& source, const BatchBudget& budget, Compute&& compute, Write&& write) {
    run_batched_items<InputItem>([&](InputItem& item) { return source.next(item); },
                                 [&](const InputItem& item) { return item.seq.size() + budget.extra_per_item; },
                                 budget, std::forward<Compute>(compute), std::forward<Write>(write));
}

}  // namespace dnamba::pipeline
