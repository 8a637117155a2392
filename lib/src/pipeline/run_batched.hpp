// The one batching pipeline behind every subcommand that runs the model over an input (embed,
// classify, train-head's features, vep, score): DESIGN.md's data flow in one place.
//
//   step 0, reader thread:    input items -> batches of at most budget.tokens tokens (each item
//                             costs its length plus budget.extra_per_item, e.g. the [SEP] token;
//                             an item longer than the budget is a batch of its own; an item that
//                             costs nothing joins the current batch), numbered in input order
//   step 1, compute threads:  one per engine (one per GPU of --device cuda:all); each takes the
//                             next batch as soon as it is free: compute(its engine, batch) -> one
//                             result per batch (run_batched_workers: any number of workers)
//   step 2, calling thread:   write(result), in input order (results are put back in batch order
//                             by a reorder buffer)
//
// Bounded queues keep memory flat whatever the input's size: budget.queue_depth batches wait
// for an engine, and at most budget.queue_depth + (engines) results wait for the writer. What a
// batch computes must not depend on how the items were batched nor on which engine ran it (the
// engines guarantee that for packed passes), so the output is one engine's, row for row. The
// first exception in any step closes every queue, the other steps stop after the batch they are
// on, and it is rethrown here after every thread has joined; with several engines an engine's
// device error names its device ("cuda:1: ..."). `write` is never called after it (the
// writers' outputs stay temporaries, see io/atomic_output).
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "dnamba/engine.hpp"
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
// `cost(item)` tokens of the budget (budget.extra_per_item is not added: the cost says it all),
// with `names.size()` compute workers (at least one): the generic form. An item of cost 0 never
// starts a batch: it rides on a pass of the item before it (vep's records that share one
// window). Compute: Result(std::size_t worker, std::vector<Item>&) (it may move the items'
// contents; called on worker w's own thread, concurrently for different workers); Write:
// void(Result&). With several workers, a device error (Error(device)) of worker w is rethrown
// as "names[w]: <message>".
template <typename Item, typename Next, typename Cost, typename Compute, typename Write>
void run_batched_workers(Next&& next, Cost&& cost, const BatchBudget& budget, const std::vector<std::string>& names,
                         Compute&& compute, Write&& write) {
    using Result = decltype(compute(std::size_t{0}, std::declval<std::vector<Item>&>()));
    if (budget.tokens < 1 || budget.tokens > k_max_batch_tokens)
        fail(ErrorKind::usage, "--batch-tokens " + std::to_string(budget.tokens) + ": expected 1 to " +
                                   std::to_string(k_max_batch_tokens));
    const std::size_t workers = names.size();
    if (workers == 0) fail(ErrorKind::usage, "run_batched: no compute worker");
    struct Numbered {
        std::size_t seq = 0;
        std::vector<Item> items;
    };
    BoundedQueue<Numbered> batches(budget.queue_depth);
    // room for a result per worker beyond the writer's queue: a worker that finishes ahead of
    // the one holding the next batch puts its result and takes another batch
    ReorderBuffer<Result> results(budget.queue_depth + workers, workers);
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

    // step 0: read items, pack them into numbered batches
    std::thread reader = start_thread("reader", [&] {
        try {
            Numbered batch;
            std::size_t tokens = 0;
            Item item;
            while (next(item)) {
                const std::size_t n = cost(item);
                if (!batch.items.empty() && n > 0 && tokens + n > budget.tokens) {
                    const std::size_t seq = batch.seq;
                    if (!batches.push(std::move(batch))) return;
                    batch = Numbered{seq + 1, {}};
                    tokens = 0;
                }
                tokens += n;
                batch.items.push_back(std::move(item));
                item = Item{};
            }
            if (!batch.items.empty() && !batches.push(std::move(batch))) return;
            batches.close();
        } catch (...) {
            record_error(std::current_exception());
        }
    });
    // step 1: compute, one thread per worker, each taking the next batch when it is free
    auto work = [&](std::size_t w) {
        try {
            while (auto batch = batches.pop()) {
                if (failed()) return;  // close() lets pop() drain: stop after the batch on hand
                if (!results.put(batch->seq, compute(w, batch->items))) return;
            }
            results.producer_done();
        } catch (const Error& e) {
            record_error(workers > 1 && e.kind() == ErrorKind::device
                             ? std::make_exception_ptr(Error(e.kind(), names[w] + ": " + e.what()))
                             : std::current_exception());
        } catch (...) {
            record_error(std::current_exception());
        }
    };
    std::vector<std::thread> computing;
    try {
        for (std::size_t w = 0; w < workers; ++w) computing.push_back(start_thread("compute", [&work, w] { work(w); }));
    } catch (...) {
        batches.close();  // the reader's next push fails and it returns; the workers' pops end
        results.close();
        reader.join();
        for (auto& t : computing) t.join();
        throw;
    }
    // step 2: write, on the calling thread, in input order
    try {
        while (auto r = results.take()) {
            if (failed()) break;
            write(*r);
        }
    } catch (...) {
        record_error(std::current_exception());
    }
    reader.join();
    for (auto& t : computing) t.join();
    if (error) std::rethrow_exception(error);
}

// run_batched_workers with one worker per engine: Compute: Result(Engine&, std::vector<Item>&).
template <typename Item, typename Next, typename Cost, typename Compute, typename Write>
void run_batched_items(Next&& next, Cost&& cost, const BatchBudget& budget, const Engines& engines,
                       Compute&& compute, Write&& write) {
    run_batched_workers<Item>(
        std::forward<Next>(next), std::forward<Cost>(cost), budget, engines.devices(),
        [&](std::size_t w, std::vector<Item>& items) { return compute(engines[w], items); }, std::forward<Write>(write));
}

// Runs the three steps over `source` until it is exhausted (each item costing its length plus
// budget.extra_per_item), with `workers.size()` compute workers named for messages as in
// run_batched_workers. Compute: Result(std::size_t worker, std::vector<InputItem>&) (it may move
// the items' contents); Write: void(Result&).
template <typename Compute, typename Write>
void run_batched(InputSource& source, const BatchBudget& budget, const std::vector<std::string>& workers,
                 Compute&& compute, Write&& write) {
    run_batched_workers<InputItem>([&](InputItem& item) { return source.next(item); },
                                   [&](const InputItem& item) { return item.seq.size() + budget.extra_per_item; },
                                   budget, workers, std::forward<Compute>(compute), std::forward<Write>(write));
}

// The same with one compute thread per engine. Compute: Result(Engine&, std::vector<InputItem>&).
template <typename Compute, typename Write>
void run_batched(InputSource& source, const BatchBudget& budget, const Engines& engines, Compute&& compute,
                 Write&& write) {
    run_batched(
        source, budget, engines.devices(),
        [&](std::size_t w, std::vector<InputItem>& items) { return compute(engines[w], items); },
        std::forward<Write>(write));
}

}  // namespace dnamba::pipeline
