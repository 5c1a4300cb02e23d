fn main() {
    std::process::exit(clinic::commands::cli::run());
}
