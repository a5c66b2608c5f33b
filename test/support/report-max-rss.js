// node --require this: the process prints its peak resident memory (KiB) to stderr as it exits
process.on('exit', () => process.stderr.write(`max-rss-kib ${process.resourceUsage().maxRSS}\n`));
