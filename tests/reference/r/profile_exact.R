## Exact profile-likelihood limits computed in R, independently of MASS's interpolated ones, for the models
## whose confint(glm) (MASS:::confint.glm) is in tests/reference/r/titanic.json (section e) and
## tests/reference/r/tmall_interactions.json (M0$profile_ci).
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline; the coupon
## data file is NOT part of the project and is never copied into it):
##   Rscript tests/reference/r/profile_exact.R ../shared/data/tianmao.csv tests/reference/r/profile_exact.json
## Inputs:  tests/data/public/titanic.csv; the coupon data (25,317 rows), its sha256 goes into the JSON.
## Output:  tests/reference/r/profile_exact.json
##
## Method, for each coefficient j of a glm(binomial) fit with estimate b_j and log-likelihood l:
##   l_j(b)  = logLik of glm.fit(x = X[, -j], y, offset = X[, j] * b, family = binomial(),
##             control = glm.control(epsilon = 1e-15, maxit = 100)) started at the full fit's linear predictor
##             (etastart; a start at the other coefficients made IRLS diverge for the spline columns);
##   z_j(b)  = sign(b - b_j) * sqrt(2 * (l - l_j(b)));
##   limits  = uniroot(function(b) z_j(b) - c, interval, tol = 1e-13 * (1 + |b_j|)) for c = -/+ qnorm(0.975), the
##             interval from the Wald limit's side: [b_j + s * 0.5 * c * se, b_j + s * 2 * c * se], widened until
##             it brackets the root. The deviance here is glm.fit's own (2 x the Bernoulli -logLik of 0/1 rows).
## Models (the data coded exactly as in titanic.R and tmall_interactions.R):
##   titanic: glm(survived ~ sex + passengerClass + age, binomial) on the 1,046 complete cases, baselines
##            male and 3rd;
##   coupon:  M0 = glm(coupon_ind ~ rcs(age, 5) + job + marriage + default + returned + loan
##                     + rcs(coupons_months_2_6, 3) + coupons_last_month, binomial) on all 25,317 rows.
## Numbers: jsonlite::toJSON(digits = NA), 15 significant digits; limits also as sprintf("%.17g").

suppressPackageStartupMessages({
  library(jsonlite)
  library(rms)
  library(MASS)
})
options(warn = 1, width = 200)
args <- commandArgs(trailingOnly = TRUE)
DATA <- if (length(args) >= 1) args[1] else "../shared/data/tianmao.csv"
OUTFILE <- if (length(args) >= 2) args[2] else "tests/reference/r/profile_exact.json"
TITANIC <- "tests/data/public/titanic.csv"
CTRL <- glm.control(epsilon = 1e-15, maxit = 100)
exact <- function(v) sprintf("%.17g", unname(v))
level <- 0.95
crit <- qnorm(1 - (1 - level) / 2)

exact_limits <- function(fit) {
  X <- model.matrix(fit); y <- fit$y; b <- coef(fit); se <- sqrt(diag(vcov(fit)))
  ll <- as.numeric(logLik(fit)); eta <- drop(X %*% b)
  calls <- 0L
  z_of <- function(j, v) {
    calls <<- calls + 1L
    f <- suppressWarnings(glm.fit(x = X[, -j, drop = FALSE], y = y, offset = X[, j] * v, family = binomial(),
                                  etastart = eta, control = CTRL))
    llj <- -f$deviance / 2            # 0/1 rows: deviance = -2 logLik
    sign(v - b[j]) * sqrt(max(0, 2 * (ll - llj)))
  }
  out <- lapply(seq_along(b), function(j) {
    vapply(c(-1, 1), function(s) {
      target <- s * crit
      lo <- b[j] + s * 0.5 * crit * se[j]; hi <- b[j] + s * 2 * crit * se[j]
      while (s * (z_of(j, hi) - target) < 0) hi <- b[j] + 2 * (hi - b[j])
      r <- uniroot(function(v) z_of(j, v) - target, sort(c(lo, hi)), tol = 1e-13 * (1 + abs(b[j])),
                   maxiter = 200)
      r$root
    }, 0)
  })
  lim <- do.call(rbind, out)
  list(term = names(b), estimate = unname(b), std_error = unname(se), logLik = ll,
       lower = unname(lim[, 1]), upper = unname(lim[, 2]),
       lower_exact = exact(lim[, 1]), upper_exact = exact(lim[, 2]),
       mass_confint = {ci <- suppressMessages(confint(fit, level = level)); list(lower = unname(ci[, 1]),
                                                                                  upper = unname(ci[, 2]))},
       glm_fit_calls = calls)
}

## ---------------------------------------------------------------- titanic ----------------------------
raw <- read.csv(TITANIC, stringsAsFactors = FALSE, na.strings = "", fileEncoding = "UTF-8")
d <- data.frame(survived = as.integer(raw$survived == "yes"), sex = factor(raw$sex, levels = c("male", "female")),
                age = raw$age, passengerClass = factor(raw$passengerClass, levels = c("3rd", "1st", "2nd")))
cc <- d[complete.cases(d), ]
fit_t <- glm(survived ~ sex + passengerClass + age, family = binomial, data = cc, control = CTRL)
t0 <- proc.time()[["elapsed"]]
sec_t <- c(list(call = "glm(survived ~ sex + passengerClass + age, family = binomial, data = complete cases, control = glm.control(epsilon = 1e-15, maxit = 100))",
                n = nobs(fit_t)), exact_limits(fit_t))
sec_t$seconds <- proc.time()[["elapsed"]] - t0

## ---------------------------------------------------------------- coupon M0 --------------------------
raw <- read.csv(DATA, stringsAsFactors = FALSE)
stopifnot(nrow(raw) == 25317, !anyNA(raw))
most_frequent <- function(x) { tb <- table(x); names(tb)[which.max(tb)] }
with_baseline <- function(x, base) factor(x, levels = c(base, setdiff(sort(unique(x)), base)))
dc <- data.frame(
  coupon_ind = raw$coupon_ind, age = raw$age,
  job = with_baseline(raw$job, most_frequent(raw$job)),
  marriage = with_baseline(raw$marriage, most_frequent(raw$marriage)),
  default = as.integer(raw$default == "yes"), returned = as.integer(raw$returned == "yes"),
  loan = as.integer(raw$loan == "yes"),
  coupons_months_2_6 = raw$coupon_used_in_last6_month - raw$coupon_used_in_last_month,
  coupons_last_month = factor(pmin(raw$coupon_used_in_last_month, 4), levels = 0:4))
f0 <- coupon_ind ~ rcs(age, 5) + job + marriage + default + returned + loan + rcs(coupons_months_2_6, 3) +
  coupons_last_month
M0 <- glm(f0, family = binomial, data = dc, control = CTRL)
t0 <- proc.time()[["elapsed"]]
sec_c <- c(list(call = "glm(coupon_ind ~ rcs(age, 5) + job + marriage + default + returned + loan + rcs(coupons_months_2_6, 3) + coupons_last_month, family = binomial, data = all rows, control = glm.control(epsilon = 1e-15, maxit = 100))",
                n = nobs(M0)), exact_limits(M0))
sec_c$seconds <- proc.time()[["elapsed"]] - t0

## ---------------------------------------------------------------- write -------------------------------
prov <- list(
  script = "tests/reference/r/profile_exact.R",
  command = paste("Rscript tests/reference/r/profile_exact.R", DATA, OUTFILE),
  R = R.version.string,
  packages = lapply(c(stats = "stats", MASS = "MASS", rms = "rms", Hmisc = "Hmisc", jsonlite = "jsonlite",
                      digest = "digest"), function(p) as.character(packageVersion(p))),
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  titanic_file = TITANIC, titanic_sha256 = digest::digest(file = TITANIC, algo = "sha256"),
  data_file_name = basename(DATA), data_sha256 = digest::digest(file = DATA, algo = "sha256"),
  glm_control = "glm.control(epsilon = 1e-15, maxit = 100)", level = level, critical_value = crit,
  json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE); 15 significant digits")
writeLines(toJSON(list(provenance = prov, titanic = sec_t, coupon_M0 = sec_c), digits = NA, auto_unbox = TRUE,
                  pretty = TRUE), OUTFILE)
for (s in list(sec_t, sec_c)) {
  print(data.frame(term = s$term, lower = s$lower, upper = s$upper,
                   mass_rel_lower = (s$mass_confint$lower - s$lower) / abs(s$lower),
                   mass_rel_upper = (s$mass_confint$upper - s$upper) / abs(s$upper)), digits = 10)
  cat("glm.fit calls:", s$glm_fit_calls, " seconds:", s$seconds, "\n")
}
